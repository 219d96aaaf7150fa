// The day and week calendar (templates/activities/calendar.html):
// progressive enhancement only, like app.js.
//
// .cw-scroll[data-scroll-hour] opens at that hour (the working day, or
// earlier when an event starts earlier). Sticky marks at the top and bottom
// count each day's events scrolled out of sight (their titles are
// data-more-above / data-more-below, "… %d"); a click on one brings the
// nearest such event into view.
(() => {
  "use strict";
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  $$(".cw-scroll[data-scroll-hour]").forEach((el) => {
    const hour = el.querySelector(".cw-hour");
    if (hour) el.scrollTop = hour.offsetHeight * Number(el.dataset.scrollHour) - 8; // show the hour's label
    const cols = $$(".cw-col", el);
    const edge = (where) => {
      const row = Object.assign(document.createElement("div"), { className: `cw-edge cw-edge-${where}` });
      row.append(document.createElement("div")); // the hours' gutter
      const marks = cols.map(() => {
        const cell = document.createElement("div");
        const mark = Object.assign(document.createElement("button"), { type: "button", className: "cw-edge-mark", hidden: true });
        cell.append(mark);
        row.append(cell);
        return mark;
      });
      return { row, marks };
    };
    const top = edge("top");
    const bottom = edge("bottom");
    el.prepend(top.row);
    el.append(bottom.row);
    const label = (tpl, n) => (tpl || "%d").replace("%d", String(n));
    const update = () => {
      const from = el.scrollTop;
      const to = from + el.clientHeight;
      cols.forEach((col, i) => {
        const evs = $$(".cw-event", col);
        const above = evs.filter((ev) => ev.offsetTop + ev.offsetHeight <= from + 2);
        const below = evs.filter((ev) => ev.offsetTop >= to - 2);
        for (const [mark, list, arrow, tpl, pick] of [
          [top.marks[i], above, "↑", el.dataset.moreAbove, (l) => l.reduce((a, b) => (b.offsetTop > a.offsetTop ? b : a))],
          [bottom.marks[i], below, "↓", el.dataset.moreBelow, (l) => l.reduce((a, b) => (b.offsetTop < a.offsetTop ? b : a))],
        ]) {
          mark.hidden = list.length === 0;
          if (!list.length) continue;
          mark.textContent = `${arrow} ${list.length}`;
          mark.title = label(tpl, list.length);
          mark.setAttribute("aria-label", mark.title);
          mark.onclick = () => { el.scrollTop = pick(list).offsetTop - 24; update(); };
        }
      });
    };
    el.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    update();
  });
})();
