// Live progress of a sync run on a connection's page: progressive
// enhancement, like app.js. [data-sync-events] holds the address of the
// run's event stream (sync_events.go); each card's
// [data-sync-progress="<kind>"] line shows its binding's state and counts.
// When the run ends the cards ([data-sync-card]) are read again from the
// page, so their last run, counts and errors are the server's.
(() => {
  "use strict";
  const root = document.querySelector("[data-sync-events]");
  if (!root || !window.EventSource) return;
  const src = new EventSource(root.dataset.syncEvents);
  const show = (ev) => {
    for (const b of ev.bindings || []) {
      const line = root.querySelector(`[data-sync-progress="${CSS.escape(b.kind)}"]`);
      if (!line) continue;
      line.hidden = false;
      line.classList.toggle("is-running", b.running);
      line.textContent = [ev.state === "queued" ? ev.message : b.status, b.text, b.error].filter(Boolean).join(" · ");
    }
  };
  src.addEventListener("progress", (e) => show(JSON.parse(e.data)));
  src.addEventListener("done", async (e) => {
    src.close();
    const ev = JSON.parse(e.data);
    show(ev);
    history.replaceState(null, "", location.pathname); // a reload does not follow the run again
    try {
      const doc = await window.Tandem.fetchPage(location.pathname);
      root.querySelectorAll("[data-sync-card]").forEach((card) => {
        const fresh = doc.querySelector(`[data-sync-card="${CSS.escape(card.dataset.syncCard)}"]`);
        if (fresh) card.replaceWith(fresh);
      });
      show(ev); // the fresh cards keep the final counts in view
    } catch { /* the lines already say how it ended */ }
    window.Tandem.toast([ev.message, ev.error].filter(Boolean).join(" "), ev.state === "completed" ? "success" : "error");
  });
})();
