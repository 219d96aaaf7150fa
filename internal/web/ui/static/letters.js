// Letters: progressive enhancement, like app.js.
// - The mail panel ([data-mail-panel]) follows its event stream
//   (/mail/events, letters.go): on "changed" it reads the page again and
//   replaces the list and the unread counts.
// - The compose form ([data-max-upload], in MB) says at once when the
//   chosen files are over the limit; the server checks it too.
(() => {
  "use strict";
  const panel = document.querySelector("[data-mail-panel]");
  if (panel && window.EventSource) {
    const src = new EventSource(panel.dataset.mailEvents);
    let busy = false;
    src.addEventListener("changed", async () => {
      if (busy) return;
      busy = true;
      try {
        const doc = await window.Tandem.fetchPage(location.pathname + location.search);
        for (const sel of ["[data-mail-list]", "[data-mail-unread]", "[data-mail-tabs]"]) {
          const old = panel.querySelector(sel);
          const fresh = doc.querySelector(sel);
          if (old && fresh) old.replaceWith(fresh);
        }
      } catch { /* the next event tries again */ }
      busy = false;
    });
  }
  const form = document.querySelector("form[data-max-upload]");
  if (form) {
    const input = form.querySelector('input[type="file"]');
    const max = Number(form.dataset.maxUpload) * 1024 * 1024;
    const check = () => {
      const total = [...(input.files || [])].reduce((n, f) => n + f.size, 0);
      input.setCustomValidity(total > max ? form.querySelector("#f-attachments-help").textContent : "");
    };
    input?.addEventListener("change", () => { check(); input.reportValidity(); });
  }
})();
