// mlpgrade pages: live status polling, drag-and-drop upload, sortable/filterable tables.
"use strict";

function badge(status) {
  const span = document.createElement("span");
  span.className = "badge status-" + status;
  span.dataset.status = status;
  span.textContent = status;
  return span;
}

// While queued (or while the training run is pending) an ask sends the state it shows (`seen`):
// the server answers once that state changed, or after ten seconds with a fresh line
// (services/changes.py).
function poll(el) {
  const url = el.dataset.live;
  const tick = async (seen) => {
    let data;
    try {
      const ask = seen ? url + "?seen=" + encodeURIComponent(seen) : url;
      const reply = await fetch(ask, {credentials: "same-origin", cache: "no-store"});
      if (!reply.ok) return setTimeout(tick, 3000);
      data = await reply.json();
    } catch (e) { return setTimeout(tick, 3000); }
    const status = el.querySelector(".js-status") || (el.classList.contains("js-status") ? el : null);
    if (status) status.replaceChildren(badge(data.status));
    const queue = el.querySelector(".js-queue");
    if (queue) {
      queue.textContent = data.line;
    }
    const grading = data.status === "queued" || data.status === "running";
    // a page that reloads does so once what it shows has changed (graded, training done)
    if (!grading && el.dataset.reload && data.state !== el.dataset.state) return window.location.reload();
    // running: the line's seconds and test move each second; queued or training: the next
    // answer comes once that changes
    if (data.status === "running") return setTimeout(tick, 1000);
    if (grading || data.training === "pending") return setTimeout(() => tick(data.state), 250);
    const score = el.querySelector(".js-score");
    if (score && data.final_score !== null) score.textContent = data.score_text;
  };
  setTimeout(() => tick(el.dataset.state), 1000);  // a page that shows a state waits for its change
}

function dropzone(zone) {
  const input = zone.querySelector("input[type=file]");
  const name = document.getElementById("file-name");
  const show = () => { name.textContent = input.files.length ? input.files[0].name : ""; };
  input.addEventListener("change", show);
  ["dragenter", "dragover"].forEach(ev => zone.addEventListener(ev, e => {
    e.preventDefault(); zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach(ev => zone.addEventListener(ev, e => {
    e.preventDefault(); zone.classList.remove("over");
  }));
  zone.addEventListener("drop", e => {
    if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
  });
}

function sortable(table) {
  table.querySelectorAll("th[data-sort]").forEach((th, col) => {
    th.tabIndex = 0;
    th.addEventListener("click", () => {
      const numeric = th.dataset.sort === "num";
      const dir = th.dataset.dir === "asc" ? -1 : 1;
      table.querySelectorAll("th[data-sort]").forEach(h => delete h.dataset.dir);
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      const body = table.tBodies[0];
      const key = row => {
        const cell = row.cells[col];
        return numeric ? parseFloat(cell.dataset.value ?? cell.textContent) : cell.textContent.trim().toLowerCase();
      };
      [...body.rows].sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * dir)
        .forEach(row => body.appendChild(row));
    });
  });
}

function filter(input) {
  const table = document.getElementById(input.dataset.table);
  input.addEventListener("input", () => {
    const q = input.value.trim().toLowerCase();
    [...table.tBodies[0].rows].forEach(row => {
      row.hidden = q !== "" && !row.textContent.toLowerCase().includes(q);
    });
  });
}

const SHORT = {dateStyle: "medium", timeStyle: "short"};

function courseZone() { return document.body.dataset.zone || "UTC"; }

function sameClock(at, zone) {
  // does the reader's clock read as the course's (then "your time" would say nothing new)?
  return at.toLocaleString("en-US", {timeZone: zone}) === at.toLocaleString("en-US");
}

function localTime(el) {
  // the moment in the course's time zone (and UTC) as the server wrote it; the reader's own
  // clock beside it when it reads differently
  const at = new Date(el.getAttribute("datetime"));
  if (isNaN(at) || sameClock(at, courseZone())) return;
  const span = document.createElement("span");
  span.className = "local-time";
  span.textContent = ` (${at.toLocaleString(undefined, SHORT)} your time)`;
  const utc = el.nextElementSibling;
  (utc && utc.classList.contains("utc") ? utc : el).after(span);
}

function zoneOffset(at, zone) {
  // how far the zone's wall clock is ahead of UTC at this moment, in ms
  const f = new Intl.DateTimeFormat("en-US", {timeZone: zone, hourCycle: "h23", year: "numeric",
    month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric"});
  const p = Object.fromEntries(f.formatToParts(at).map(x => [x.type, +x.value]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second) - at.getTime();
}

function fromZone(value, zone) {
  // a datetime-local value ("2026-12-07T23:59") read on the zone's wall clock
  const [y, m, d, h, mi] = value.split(/[-T:]/).map(Number);
  const wall = Date.UTC(y, m - 1, d, h, mi);
  const first = new Date(wall - zoneOffset(new Date(wall), zone));
  return new Date(wall - zoneOffset(first, zone));
}

function zoneEcho(input) {
  // as the instructor types a time in the course's zone: the UTC and their own time
  const out = document.createElement("output");
  out.className = "tz-echo muted small";
  out.id = input.id + "-echo";
  out.setAttribute("for", input.id);
  input.after(out);
  const show = () => {
    if (!input.value) { out.textContent = ""; return; }
    const at = fromZone(input.value, input.dataset.zone);
    const utc = at.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    out.textContent = "= " + utc + (sameClock(at, input.dataset.zone) ? "" :
      ` · ${at.toLocaleString(undefined, SHORT)} your time`);
  };
  input.addEventListener("input", show);
  input.addEventListener("change", show);
  show();
}

function autoRefresh(note) {
  // a page that shows work in progress reloads itself, until the reader pauses it (WCAG 2.2.1:
  // a timed change the reader can stop; a <meta> refresh could not be)
  const timer = setTimeout(() => window.location.reload(), +note.dataset.seconds * 1000);
  const pause = document.getElementById("pause-refresh");
  pause.addEventListener("click", () => {
    clearTimeout(timer);
    note.textContent = "Updates paused: reload the page to see what changed.";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const note = document.getElementById("auto-refresh");
  if (note) autoRefresh(note);
  document.querySelectorAll("time[datetime]").forEach(localTime);
  document.querySelectorAll("input[type=datetime-local][data-zone]").forEach(zoneEcho);
  document.querySelectorAll("[data-live]").forEach(el => { if (el.dataset.live) poll(el); });
  document.querySelectorAll(".dropzone").forEach(dropzone);
  document.querySelectorAll("table.sortable").forEach(sortable);
  document.querySelectorAll("input.filter").forEach(filter);
  document.querySelectorAll("form[data-confirm]").forEach(form => form.addEventListener("submit", e => {
    if (!window.confirm(form.dataset.confirm)) e.preventDefault();
  }));
  // a saved comment fills the comment box of its manual item
  document.querySelectorAll("button.use-comment").forEach(b => b.addEventListener("click", () => {
    const box = document.getElementById(b.dataset.target);
    if (box) { box.value = b.dataset.text; box.focus(); }
  }));
});
