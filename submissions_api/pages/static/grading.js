// mlpgrade manual grading: rubric items by key, Enter saves and moves on, the total as ticked,
// and selected source lines fill the annotation form.
"use strict";

const TYPING = new Set(["text", "number", "search", "email", "url", "password"]);

function typing(el) {
  return el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
    (el.tagName === "INPUT" && TYPING.has(el.type));
}

function showTotal(form) {
  const out = form.querySelector(".rubric-total");
  if (!out) return;
  const max = parseFloat(form.dataset.max);
  let sum = parseFloat(form.querySelector("input[name=points]").value) || 0;
  form.querySelectorAll("input[name=rubric]:checked").forEach(b => { sum += parseFloat(b.dataset.points); });
  out.textContent = `${Math.round(Math.min(Math.max(sum, 0), max) * 100) / 100}/${max}`;
}

// Listening from the moment the script runs (not from DOMContentLoaded): a key pressed as soon as
// the focused box shows is never lost. The forms are looked up at each key.
function gradingKeys() {
  document.addEventListener("keydown", e => {
    if (e.ctrlKey || e.altKey || e.metaKey || e.defaultPrevented) return;
    const form = e.target.closest ? e.target.closest("form.manual-form") : null;
    if (e.key === "Enter" && form && e.target.tagName === "INPUT" && e.target.type === "checkbox") {
      e.preventDefault();
      form.requestSubmit(form.querySelector("button[value=next]"));
      return;
    }
    if (typing(e.target) || e.key.length !== 1) return;
    for (const f of document.querySelectorAll("form.manual-form")) {
      const label = f.querySelector(`label.rubric-item[data-key="${CSS.escape(e.key)}"]`);
      if (label) {
        e.preventDefault();
        const box = label.querySelector("input");
        box.checked = !box.checked;
        box.focus();
        showTotal(f);
        return;
      }
    }
  });
}

function lineAt(pre, node, offset) {
  const range = document.createRange();
  range.setStart(pre, 0);
  range.setEnd(node, offset);
  return range.toString().split("\n").length;
}

function selectLines(source) {
  const form = source.parentElement.querySelector("form.annotate-form");
  const pre = source.querySelector("pre");
  if (!form || !pre) return;
  source.addEventListener("mouseup", () => {
    const sel = window.getSelection();
    if (!sel.rangeCount || sel.isCollapsed || !pre.contains(sel.anchorNode)) return;
    const a = lineAt(pre, sel.anchorNode, sel.anchorOffset);
    const b = lineAt(pre, sel.focusNode, sel.focusOffset);
    form.querySelector("input[name=first]").value = Math.min(a, b);
    form.querySelector("input[name=last]").value = Math.max(a, b);
    form.querySelector("input[name=comment]").focus();
  });
}

gradingKeys();

document.addEventListener("DOMContentLoaded", () => {
  const forms = [...document.querySelectorAll("form.manual-form")];
  forms.forEach(f => f.addEventListener("input", () => showTotal(f)));
  // The first control is focused here, not by `autofocus`: the browser skips autofocus on a
  // page opened at an anchor (#manual), and focus from here comes after the keys listen. Once
  // the page has scrolled to the anchor.
  const first = document.querySelector("form.manual-form [data-first]");
  if (first) window.addEventListener("load", () => setTimeout(() => {
    if (!document.activeElement || document.activeElement === document.body) first.focus();
  }, 0));
  document.querySelectorAll(".source[data-path]").forEach(selectLines);
});
