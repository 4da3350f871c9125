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
})();
