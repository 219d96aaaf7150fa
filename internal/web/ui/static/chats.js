// Chats: progressive enhancement, like app.js.
// - The operator panel ([data-chat-panel]) follows its event stream
//   (/chats/events, chat_events.go): on "panel", "chat" or "reload" it
//   reads the page again and replaces the lists and, for the open chat,
//   its history (the reply box keeps what is being typed).
// - A new chat offered or waiting plays the notification sound: the
//   uploaded one (data-chat-sound) or a short built-in tone. Browsers
//   allow sound only after the user interacted with the page, so it is
//   armed by the first click or key press; the note says so until then.
// - [data-deadline] counts down the time left to accept an offer.
// - Ctrl+Enter (⌘+Enter) sends the reply.
// - The chat action form shows the webhook fields only for a webhook.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  // Chat action form (administration).
  const actionForm = $("form[data-chat-action-form]");
  if (actionForm) {
    const proc = actionForm.elements.process;
    const show = () => $$("[data-process]", actionForm).forEach((el) => { el.hidden = el.dataset.process !== proc.value; });
    proc?.addEventListener("change", show);
    show();
  }

  const panel = $("[data-chat-panel]");
  if (!panel) return;

  // ---- sound ----
  const soundKey = "tandem.chatSound";
  let unlocked = false;
  let audioCtx = null;
  const soundOn = () => localStorage.getItem(soundKey) !== "off";
  const syncSoundBox = () => {
    const toggle = $("[data-chat-sound-toggle]");
    if (toggle) toggle.checked = soundOn();
    const note = $("[data-chat-sound-note]");
    if (note) note.hidden = unlocked || !soundOn();
  };
  const unlock = () => {
    if (unlocked) return;
    unlocked = true;
    try {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (AC) { audioCtx = new AC(); audioCtx.resume?.(); }
    } catch { /* no Web Audio: the uploaded sound may still play */ }
    syncSoundBox();
  };
  document.addEventListener("click", unlock, { capture: true });
  document.addEventListener("keydown", unlock, { capture: true });
  document.addEventListener("change", (e) => {
    if (!e.target.matches?.("[data-chat-sound-toggle]")) return;
    localStorage.setItem(soundKey, e.target.checked ? "on" : "off");
    syncSoundBox();
  });
  const beep = () => {
    if (!audioCtx) return;
    const t = audioCtx.currentTime;
    [[880, 0], [1175, 0.16]].forEach(([freq, at]) => {
      const osc = audioCtx.createOscillator();
      const gain = audioCtx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + at);
      gain.gain.exponentialRampToValueAtTime(0.25, t + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.15);
      osc.connect(gain).connect(audioCtx.destination);
      osc.start(t + at);
      osc.stop(t + at + 0.16);
    });
  };
  const ring = () => {
    if (!soundOn()) return;
    // Counted for anyone who wants to know a sound was due (tests too).
    panel.dataset.chatRings = String(Number(panel.dataset.chatRings || 0) + 1);
    if (!unlocked) return;
    const url = panel.dataset.chatSound;
    if (url) new Audio(url).play().catch(beep); else beep();
  };
  syncSoundBox();

  // ---- countdown ----
  const tick = () => $$("[data-deadline]").forEach((el) => {
    const end = Date.parse(el.dataset.deadline);
    if (Number.isNaN(end)) return;
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    el.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    el.closest("li")?.classList.toggle("is-urgent", left <= 30);
  });
  setInterval(tick, 1000);
  tick();

  // ---- history ----
  const history = () => $("[data-chat-history]");
  const scrollDown = () => { const h = history(); if (h) h.scrollTop = h.scrollHeight; };
  scrollDown();
  document.addEventListener("keydown", (e) => {
    const ta = e.target.closest?.("form[data-chat-reply] textarea");
    if (ta && e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); ta.form.requestSubmit(); }
  });

  // ---- live updates ----
  const waiting = () => new Set($$('[data-chat-section="offered"] [data-chat-id], [data-chat-section="queued"] [data-chat-id]')
    .map((el) => el.dataset.chatId));
  const mode = (root) => $("[data-chat-controls]", root)?.dataset.chatMode || "";
  let busy = false, again = false;
  const refresh = async () => {
    if (busy) { again = true; return; }
    busy = true;
    try {
      do {
        again = false;
        const before = waiting();
        const doc = await window.Tandem.fetchPage(location.pathname + location.search);
        if (!$("[data-chat-lists]") !== !$("[data-chat-lists]", doc)) {
          // Became an operator, or stopped being one: the page changed shape.
          location.reload();
          return;
        }
        const swap = (sel) => { const old = $(sel), fresh = $(sel, doc); if (old && fresh) old.replaceWith(fresh); };
        swap("[data-chat-lists]");
        if (panel.dataset.chatOpen) {
          const h = history();
          const atEnd = !h || h.scrollHeight - h.scrollTop - h.clientHeight < 40;
          swap("[data-chat-summary]");
          if (mode(document) === mode(doc)) {
            swap("[data-chat-history]");
          } else {
            // The chat moved (accepted, completed, taken): its controls
            // change; what was typed stays.
            const draft = $("form[data-chat-reply] textarea")?.value;
            swap("[data-chat-main]");
            const ta = $("form[data-chat-reply] textarea");
            if (ta && draft) ta.value = draft;
          }
          if (atEnd) scrollDown();
        }
        syncSoundBox();
        tick();
        const after = waiting();
        if ([...after].some((id) => !before.has(id))) ring();
      } while (again);
    } catch { /* the next event tries again */ }
    busy = false;
  };
  if (window.EventSource) {
    const src = new EventSource(panel.dataset.chatEvents);
    for (const name of ["panel", "chat", "reload"]) src.addEventListener(name, refresh);
    // After a lost connection the browser reconnects by itself; whatever
    // happened meanwhile is read again.
    // data-chat-live says the stream is connected.
    let lost = false;
    src.addEventListener("error", () => { lost = true; delete panel.dataset.chatLive; });
    src.addEventListener("open", () => {
      panel.dataset.chatLive = "1";
      if (lost) { lost = false; refresh(); }
    });
  }
})();
