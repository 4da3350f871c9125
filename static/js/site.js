// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  function debounce(fn, ms) {
    let timer;
    return function (...args) { clearTimeout(timer); timer = setTimeout(() => fn.apply(this, args), ms); };
  }

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
        const url = `${titleInput.dataset.similar}?title=${encodeURIComponent(title)}`;
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
          return item;
        }));
        similarBox.hidden = results.length === 0;
      } catch (err) { /* offline: nothing to suggest */ }
    }, 250);
    titleInput.addEventListener("input", lookup);
  }

  // Votes without a page load; the same form posts normally when scripts are off.
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-vote-form]");
    if (!form) return;
    event.preventDefault();
    const box = form.closest("[data-vote-box]");
    const error = box.querySelector("[data-vote-error]");
    const body = new FormData(form, event.submitter);
    let response;
    let data = {};
    try {
      response = await fetch(form.action, {
        method: "POST", body, headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      });
      data = await response.json();
    } catch (err) {
      error.textContent = "Your vote could not be sent. Check your connection and try again.";
      return;
    }
    if (!response.ok) {
      error.textContent = (data.error && data.error.message) || "Your vote could not be saved.";
      return;
    }
    error.textContent = "";
    box.querySelector("[data-score]").textContent = data.score;
    form.querySelector('[value="up"]').setAttribute("aria-pressed", String(data.my_vote === 1));
    form.querySelector('[value="down"]').setAttribute("aria-pressed", String(data.my_vote === -1));
  });
})();
