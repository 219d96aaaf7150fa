// Tandem UI behaviour: progressive enhancement only — every page works
// without this file. Hooks are data attributes, documented in package ui.
(() => {
  "use strict";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const on = (type, sel, fn, capture = false) => document.addEventListener(type, (e) => {
    const el = e.target instanceof Element && e.target.closest(sel);
    if (el) fn(e, el);
  }, capture);
  const csrfToken = () => $('meta[name="csrf-token"]')?.content || "";

  // Same-origin fetches that change state carry the CSRF token header.
  const nativeFetch = window.fetch.bind(window);
  window.fetch = (input, init = {}) => {
    const req = input instanceof Request ? input : null;
    const method = (init.method || req?.method || "GET").toUpperCase();
    const url = new URL(req ? req.url : String(input), location.href);
    if (url.origin === location.origin && !["GET", "HEAD", "OPTIONS"].includes(method)) {
      const headers = new Headers(init.headers || req?.headers);
      if (!headers.has("X-CSRF-Token")) headers.set("X-CSRF-Token", csrfToken());
      init = { ...init, headers };
    }
    return nativeFetch(input, init);
  };

  // Fetch a same-origin page and parse it, for in-place updates.
  const fetchPage = async (url, signal) => {
    const res = await fetch(url, { headers: { Accept: "text/html" }, signal, credentials: "same-origin" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return new DOMParser().parseFromString(await res.text(), "text/html");
  };

  // Toasts: server flashes and Tandem.toast(); non-errors fade after 5 s.
  const dismiss = (el) => { el.classList.add("is-leaving"); setTimeout(() => el.remove(), 220); };
  const autoDismiss = (el) => {
    let timer = setTimeout(() => dismiss(el), 5000);
    el.addEventListener("mouseenter", () => clearTimeout(timer));
    el.addEventListener("mouseleave", () => { timer = setTimeout(() => dismiss(el), 2500); });
  };
  const toast = (message, kind = "info") => {
    const stack = $("[data-toasts]");
    if (!stack) return;
    const el = document.createElement("div");
    el.className = `toast toast-${kind}`;
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    el.append(Object.assign(document.createElement("div"), { className: "toast-body", textContent: message }));
    stack.append(el);
    if (kind !== "error") autoDismiss(el);
  };
  on("click", "[data-dismiss]", (e, el) => dismiss(el.closest(".toast, .alert") || el));

  // Confirmation: a click on [data-confirm] asks first, in the shared
  // dialog when the browser has <dialog>, else with window.confirm.
  const ask = (message) => {
    const dlg = $("#confirm-dialog");
    if (!dlg || typeof dlg.showModal !== "function") return Promise.resolve(window.confirm(message));
    $("[data-confirm-message]", dlg).textContent = message;
    dlg.returnValue = "";
    dlg.showModal();
    $("[data-confirm-ok]", dlg)?.focus();
    return new Promise((resolve) => dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true }));
  };
  on("click", "[data-confirm]", (e, el) => {
    if (el.dataset.confirmed) { delete el.dataset.confirmed; return; }
    e.preventDefault();
    e.stopImmediatePropagation();
    ask(el.dataset.confirm).then((ok) => {
      if (!ok) return;
      el.dataset.confirmed = "1";
      el.click(); // replays the original action, submitter value included
    });
  }, true); // capture: runs before the element's own handlers

  // Dialogs: [data-dialog-open="id"], [data-dialog-close]; a backdrop click closes.
  on("click", "[data-dialog-open]", (e, el) => {
    const dlg = document.getElementById(el.dataset.dialogOpen);
    if (dlg?.showModal) { e.preventDefault(); dlg.showModal(); }
  });
  on("click", "[data-dialog-close]", (e, el) => el.closest("dialog")?.close());
  document.addEventListener("click", (e) => {
    if (e.target instanceof HTMLDialogElement && e.target.open) {
      const r = e.target.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) e.target.close();
    }
  });

  // Sidebar on narrow screens.
  const setSidebar = (open) => {
    document.body.classList.toggle("sidebar-open", open);
    $$(".nav-toggle").forEach((b) => b.setAttribute("aria-expanded", String(open)));
    if (open) $("#sidebar .nav-item")?.focus();
  };
  on("click", "[data-sidebar-toggle]", () => setSidebar(!document.body.classList.contains("sidebar-open")));

  // Escape closes the sidebar and open dropdowns; outside clicks close dropdowns.
  const closeMenus = (except) => $$("details.dropdown[open]").forEach((d) => { if (d !== except) d.open = false; });
  document.addEventListener("click", (e) => closeMenus(e.target instanceof Element ? e.target.closest("details.dropdown") : null));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      if (document.body.classList.contains("sidebar-open")) setSidebar(false);
      const open = $("details.dropdown[open]");
      if (open) { open.open = false; open.querySelector("summary")?.focus(); }
      return;
    }
    // "/" jumps to search unless the user is typing somewhere.
    const t = e.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const input = $("[data-search-shortcut]");
      if (input) { e.preventDefault(); input.focus(); input.select(); }
    }
  });

  // Live search: input[data-autosubmit] submits its GET form 300 ms after
  // typing stops. With data-autosubmit-target="<selector>" only that element
  // is replaced from the result page, so focus and caret stay put.
  let searchTimer, searchAbort;
  on("input", "input[data-autosubmit], select[data-autosubmit]", (e, el) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      const form = el.form;
      const sel = el.dataset.autosubmitTarget;
      if (!form) return;
      if (!sel || !$(sel)) { form.requestSubmit(); return; }
      const url = new URL(form.action || location.href, location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      searchAbort?.abort();
      searchAbort = new AbortController();
      $(sel).setAttribute("aria-busy", "true");
      try {
        const doc = await fetchPage(url, searchAbort.signal);
        const fresh = $(sel, doc);
        if (fresh) $(sel).replaceWith(fresh);
        history.replaceState(null, "", url);
      } catch (err) {
        if (err.name !== "AbortError") form.requestSubmit();
      } finally {
        $(sel)?.removeAttribute("aria-busy");
      }
    }, 300);
  });

  // "Load more": append the next page's items in place; navigate on failure.
  on("click", "a[data-load-more-target]", async (e, a) => {
    e.preventDefault();
    const sel = a.dataset.loadMoreTarget;
    const block = a.closest("[data-load-more]");
    a.classList.add("is-loading");
    $(".load-more-label", a)?.setAttribute("hidden", "");
    $(".load-more-busy", a)?.removeAttribute("hidden");
    try {
      const doc = await fetchPage(a.href);
      const items = $(sel, doc);
      if (!items || !$(sel)) throw new Error("no items");
      $(sel).append(...Array.from(items.children));
      const next = $("[data-load-more]", doc);
      if (next) block.replaceWith(next); else block.remove();
    } catch {
      location.href = a.href;
    }
  });

  // Repeated rows (emails, phones, participants):
  // [data-repeat="emails"] holds [data-repeat-list] of [data-repeat-row]s, a
  // <template data-repeat-template> whose "__i__" is the row index, and a
  // [data-repeat-add] button; [data-repeat-remove] drops its row. Names
  // like emails[3].address are renumbered 0…n-1 so the server sees no gaps.
  const renumber = (box) => {
    const name = box.dataset.repeat;
    const escaped = name.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&");
    const re = new RegExp(escaped + "\\[\\d+\\]", "g");
    $$("[data-repeat-row]", box).forEach((row, i) => {
      $$("[name],[id],[for],[aria-describedby]", row).forEach((el) => {
        for (const attr of ["name", "id", "for", "aria-describedby"]) {
          const v = el.getAttribute(attr);
          if (v) el.setAttribute(attr, v.replace(re, `${name}[${i}]`));
        }
      });
    });
  };
  on("click", "[data-repeat-add]", (e, btn) => {
    const box = btn.closest("[data-repeat]");
    const tpl = box && $("template[data-repeat-template]", box);
    const list = box && $("[data-repeat-list]", box);
    if (!tpl || !list) return;
    const i = $$("[data-repeat-row]", list).length;
    list.insertAdjacentHTML("beforeend", tpl.innerHTML.replaceAll("__i__", String(i)));
    $$("[data-repeat-row]", list).at(-1)?.querySelector("input, select, textarea")?.focus();
  });
  on("click", "[data-repeat-remove]", (e, btn) => {
    const box = btn.closest("[data-repeat]");
    const row = btn.closest("[data-repeat-row]");
    if (!box || !row) return;
    const wasPrimary = $("input[data-exclusive]:checked", row);
    row.remove();
    renumber(box);
    if (wasPrimary) { const first = $("input[data-exclusive]", box); if (first) first.checked = true; }
  });
  // input[data-exclusive]: at most one checked per [data-repeat] (one primary).
  on("change", "input[data-exclusive]", (e, el) => {
    if (!el.checked) return;
    $$("input[data-exclusive]", el.closest("[data-repeat]") || el.form || document)
      .forEach((other) => { if (other !== el) other.checked = false; });
  });

  // Clickable table rows: tr[data-href]; real links inside still win.
  on("click", "tr[data-href]", (e, tr) => {
    if (e.target.closest("a, button, input, select, textarea, label, summary")) return;
    if (e.metaKey || e.ctrlKey) window.open(tr.dataset.href, "_blank", "noopener");
    else location.href = tr.dataset.href;
  });

  // form[data-once]: block double submits (the submitter is sent first).
  document.addEventListener("submit", (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-once")) return;
    if (form.dataset.submitting) { e.preventDefault(); return; }
    form.dataset.submitting = "1";
    form.setAttribute("aria-busy", "true");
    setTimeout(() => $$("button[type=submit], button:not([type])", form).forEach((b) => { b.disabled = true; }));
  });
  // form[data-dirty-warn][data-once]: leaving it with unsaved changes asks first.
  document.addEventListener("input", (e) => e.target.closest?.("form[data-dirty-warn]")?.setAttribute("data-dirty", ""));
  window.addEventListener("beforeunload", (e) => { if ($("form[data-dirty]:not([data-submitting])")) e.preventDefault(); });
  // A page restored from the back/forward cache must be usable again.
  window.addEventListener("pageshow", () => $$("form[data-submitting]").forEach((f) => {
    delete f.dataset.submitting;
    f.removeAttribute("aria-busy");
    $$("button[disabled]", f).forEach((b) => { b.disabled = false; });
  }));

  // select[data-fills="name"]: its value goes into the form's field of that name (a preset fills the address).
  on("change", "select[data-fills]", (e, sel) => {
    const field = sel.form?.elements.namedItem(sel.dataset.fills);
    if (field && sel.value) { field.value = sel.value; field.focus(); } });

  // [data-copy="text"] or [data-copy-target="#sel"]; data-copied is the toast text.
  on("click", "[data-copy], [data-copy-target]", async (e, el) => {
    const src = el.dataset.copyTarget && $(el.dataset.copyTarget);
    const text = el.dataset.copy ?? (src ? (src.value ?? src.textContent) : "");
    try { await navigator.clipboard.writeText(text); if (el.dataset.copied) toast(el.dataset.copied, "success"); } catch { src?.select?.(); }
  });
  on("click", "[data-history-back]", () => (history.length > 1 ? history.back() : location.assign("/")));

  $$("[data-autodismiss]").forEach(autoDismiss);
  window.Tandem = { toast, confirm: ask, fetchPage };
})();
