// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  function debounce(fn, ms) {
    let timer;
    return function (...args) { clearTimeout(timer); timer = setTimeout(() => fn.apply(this, args), ms); };
  }

  // List filters: folded behind one "Filter" button on a phone, open on a wide screen.
  const wide = window.matchMedia("(min-width: 700px)");
  const unfoldFilters = () => {
    if (wide.matches) document.querySelectorAll("details[data-filters]").forEach((d) => { d.open = true; });
  };
  unfoldFilters();
  wide.addEventListener("change", unfoldFilters);

  // Live Markdown preview, rendered by the server's own sanitiser.
  document.querySelectorAll("textarea[data-preview]").forEach((textarea) => {
    const target = document.getElementById(textarea.dataset.preview);
    if (!target) return;
    const box = target.closest(".preview");
    const render = debounce(async () => {
      const body = new FormData();
      body.append("body", textarea.value);
      try {
        const response = await fetch("/preview", {
          method: "POST", body, headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
        });
        if (!response.ok) return;
        const data = await response.json();
        target.innerHTML = data.html; // already sanitised by forum/markup.py
        box.classList.toggle("has-content", textarea.value.trim() !== "");
      } catch (err) { /* offline: keep the last preview */ }
    }, 300);
    textarea.addEventListener("input", render);
    if (textarea.value.trim()) render();
  });

  // Similar questions while typing a title: read before you post.
  const titleInput = document.querySelector("input[data-similar]");
  const similarBox = document.getElementById("similar-questions");
  if (titleInput && similarBox) {
    const list = similarBox.querySelector("ul");
    let latest = 0;
    const lookup = debounce(async () => {
      const title = titleInput.value.trim();
      const ticket = ++latest;
      if (title.length < 4) { similarBox.hidden = true; return; }
      try {
        const productSelect = titleInput.form && titleInput.form.elements.namedItem("product_id");
        const product = productSelect ? productSelect.value : "";
        const url = `${titleInput.dataset.similar}?title=${encodeURIComponent(title)}&product_id=${encodeURIComponent(product)}`;
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok || ticket !== latest) return;
        const { results } = await response.json();
        list.replaceChildren(...results.map((hit) => {
          const item = document.createElement("li");
          const link = document.createElement("a");
          link.href = hit.url;
          link.textContent = hit.title; // text, never HTML
          item.append(link);
          for (const [on, label, cls] of [[hit.verified, "Verified", "verified"], [hit.solved, "Solved", "solved"]]) {
            if (!on) continue;
            const badge = document.createElement("span");
            badge.className = `badge ${cls}`;
            badge.textContent = label;
            item.append(" ", badge);
          }
          if (hit.answer) { // the verified or accepted answer's first lines: maybe enough
            const answer = document.createElement("p");
            answer.className = "similar-answer";
            answer.textContent = hit.answer;
            item.append(answer);
          }
          return item;
        }));
        similarBox.hidden = results.length === 0;
      } catch (err) { /* offline: nothing to suggest */ }
    }, 250);
    titleInput.addEventListener("input", lookup);
    const productSelect = titleInput.form && titleInput.form.elements.namedItem("product_id");
    if (productSelect) productSelect.addEventListener("change", lookup);
  }

  // Votes without a page load; the same form posts normally when scripts are off.
  // A refusal is shown beside the arrows, in words; signed out, as a link to sign in that
  // comes back to this post.
  const showVoteError = (box, message, signIn) => {
    const error = box.querySelector("[data-vote-error]");
    const text = document.createElement("span");
    if (signIn) {
      const post = box.closest("[id]");
      const back = `${location.pathname}${location.search}${post ? `#${post.id}` : ""}`;
      const link = document.createElement("a");
      link.href = `${signIn}?next=${encodeURIComponent(back)}`;
      link.textContent = "Sign in to vote";
      link.dataset.testid = "sign-in-to-vote";
      text.append(link, " (it takes you straight back here).");
    } else {
      text.textContent = message;
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", () => error.replaceChildren());
    error.replaceChildren(text, close);
  };
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-vote-form]");
    if (!form) return;
    event.preventDefault();
    const box = form.closest("[data-vote-box]");
    const body = new FormData(form, event.submitter);
    let response;
    let data = {};
    try {
      response = await fetch(form.action, {
        method: "POST", body, headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      });
      data = await response.json();
    } catch (err) {
      showVoteError(box, "Your vote could not be sent. Check your connection and try again.");
      return;
    }
    if (!response.ok) {
      const error = data.error || {};
      showVoteError(box, error.message || "Your vote could not be saved.", response.status === 401 && error.sign_in);
      return;
    }
    box.querySelector("[data-vote-error]").replaceChildren();
    box.querySelector("[data-score]").textContent = data.score;
    form.querySelector('[value="up"]').setAttribute("aria-pressed", String(data.my_vote === 1));
    form.querySelector('[value="down"]').setAttribute("aria-pressed", String(data.my_vote === -1));
  });
  // Reporting: a thread page has one report form, in a dialog, that each post's "Report" link
  // opens for that post; without dialogs (or scripts) the link goes to the report page.
  const reportDialog = document.querySelector("[data-report-dialog]");
  if (reportDialog && typeof reportDialog.showModal === "function") {
    const reportForm = reportDialog.querySelector("form");
    document.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-report]");
      if (!link) return;
      event.preventDefault();
      reportForm.reset();
      reportForm.action = link.href;
      reportDialog.querySelector("[data-report-what]").textContent = link.dataset.report;
      reportDialog.showModal();
      reportForm.querySelector("select").focus();
    });
    reportDialog.querySelector("[data-report-cancel]").addEventListener("click", () => reportDialog.close());
  }
  // The bell: the unread count without a page load. One small request per interval, only
  // while the page is visible, revalidated by ETag (304 when nothing changed); refreshed at
  // once when the reader comes back to the tab.
  const bell = document.querySelector("[data-count-url]");
  if (bell) {
    const counter = bell.querySelector(".bell-count");
    const seconds = Number(bell.dataset.seconds) || 30;
    const refresh = async () => {
      if (document.hidden) return;
      try {
        const response = await fetch(bell.dataset.countUrl, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const { unread } = await response.json();
        counter.textContent = String(unread);
        counter.classList.toggle("empty", unread === 0);
        bell.setAttribute("aria-label", `Notifications, ${unread} unread`);
      } catch (err) { /* offline: keep the last count */ }
    };
    setInterval(refresh, seconds * 1000);
    document.addEventListener("visibilitychange", refresh);
  }

  // @mentions: suggest people while typing "@na" in a post or comment.
  let mentionBox = null;
  const closeMentions = () => { if (mentionBox) { mentionBox.remove(); mentionBox = null; } };
  const mentionAt = (textarea) => {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = /(^|[\s(])@([\w.\-]{1,40})$/.exec(before);
    return match ? { prefix: match[2], start: before.length - match[2].length - 1 } : null;
  };
  const insertMention = (textarea, found, person) => {
    const after = textarea.value.slice(textarea.selectionStart);
    const text = `${textarea.value.slice(0, found.start)}@${person.mention} `;
    textarea.value = text + after;
    textarea.focus();
    textarea.setSelectionRange(text.length, text.length);
    textarea.dispatchEvent(new Event("input"));
    closeMentions();
  };
  const suggestMentions = debounce(async (textarea) => {
    const found = mentionAt(textarea);
    if (!found || found.prefix.length < 2) { closeMentions(); return; }
    let people = [];
    try {
      const response = await fetch(`/mentions?q=${encodeURIComponent(found.prefix)}`, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      ({ people } = await response.json());
    } catch (err) { return; }
    closeMentions();
    if (!people.length) return;
    mentionBox = document.createElement("ul");
    mentionBox.className = "mention-list";
    mentionBox.setAttribute("role", "listbox");
    mentionBox.setAttribute("aria-label", "People to mention");
    for (const person of people) {
      const item = document.createElement("li");
      const choose = document.createElement("button");
      choose.type = "button";
      choose.textContent = `@${person.mention}`; // text, never HTML
      if (person.name !== person.mention) choose.title = person.name;
      choose.addEventListener("click", () => insertMention(textarea, found, person));
      item.setAttribute("role", "option");
      item.append(choose);
      mentionBox.append(item);
    }
    textarea.insertAdjacentElement("afterend", mentionBox);
  }, 200);
  document.addEventListener("input", (event) => {
    if (event.target.matches("textarea[name=body]")) suggestMentions(event.target);
  });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeMentions(); });
})();
