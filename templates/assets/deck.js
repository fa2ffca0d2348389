/* deckgen: highlight the cells a worked calculation uses while its step is showing.
 * Each step carries data-highlight="row:NAME:R col:NAME:C cell:NAME:R,C ..."; matrix cells carry
 * data-cell="NAME:R,C" in the trace's own coordinates, so transposed matrices work too. */
(function () {
  "use strict";
  function clear(slide) {
    slide.querySelectorAll("td.hl-line, td.hl-cell").forEach(function (td) {
      td.classList.remove("hl-line", "hl-cell");
    });
  }
  function apply(slide, spec) {
    clear(slide);
    if (!spec) return;
    spec.split(" ").forEach(function (item) {
      var parts = item.split(":");
      var kind = parts[0], name = parts[1], where = parts[2];
      slide.querySelectorAll("td[data-cell]").forEach(function (td) {
        var cell = td.getAttribute("data-cell");
        var colon = cell.lastIndexOf(":");
        if (cell.slice(0, colon) !== name) return;
        var rc = cell.slice(colon + 1).split(",");
        if (kind === "cell" && cell.slice(colon + 1) === where) td.classList.add("hl-cell");
        else if (kind === "row" && rc[0] === where) td.classList.add("hl-line");
        else if (kind === "col" && rc[1] === where) td.classList.add("hl-line");
      });
    });
  }
  function current(slide) {
    var shown = slide.querySelectorAll(".worked .fragment.current-fragment");
    return shown.length ? shown[shown.length - 1] : null;
  }
  /* The smallest zoom a row may take: no number in it may render below MIN_PX screen pixels at the
   * slide's scale. The deck is built to fit without shrinking (story/fit.py); this is only a last resort. */
  var MIN_PX = 18.5;
  function floor(row, scale) {
    var least = Infinity;
    row.querySelectorAll("td, th, [data-trace]").forEach(function (el) {
      least = Math.min(least, parseFloat(getComputedStyle(el).fontSize));
    });
    return isFinite(least) ? Math.min(1, MIN_PX / (least * scale)) : 0;
  }
  /* Shrink rows of matrices that are wider than the slide, then all rows if the slide is too tall,
   * never below the floor. Rows are laid out at their natural (max-content) width, so one measurement gives the factor. */
  function fit(slide) {
    var rows = Array.prototype.slice.call(slide.querySelectorAll(".row"));
    if (!rows.length) return;
    rows.forEach(function (row) { row.style.zoom = ""; });
    var box = slide.getBoundingClientRect();
    if (!box.width || !slide.offsetWidth) return;
    var scale = box.width / slide.offsetWidth;
    var style = getComputedStyle(slide);
    var left = box.left + parseFloat(style.paddingLeft) * scale;
    var right = box.right - parseFloat(style.paddingRight) * scale;
    rows.forEach(function (row) {
      row.classList.remove("wrap");
      var r = row.getBoundingClientRect();
      var room = right - Math.max(r.left, left);
      if (r.width <= room) return;
      row.classList.add("wrap");  // first let the row break onto a second line
      var widest = 0;
      Array.prototype.forEach.call(row.children, function (child) {
        widest = Math.max(widest, child.getBoundingClientRect().width);
      });
      if (widest > room) row.style.zoom = Math.max(room / widest, floor(row, scale)).toFixed(3);
    });
    var limit = box.bottom - parseFloat(style.paddingBottom) * scale;
    var bottom = 0, height = 0;
    Array.prototype.forEach.call(slide.children, function (child) {
      if (child.tagName === "ASIDE") return;
      bottom = Math.max(bottom, child.getBoundingClientRect().bottom);
    });
    rows.forEach(function (row) { height += row.getBoundingClientRect().height; });
    if (bottom > limit && height > 0) {
      var factor = Math.max(0.3, 1 - (bottom - limit) / height);
      rows.forEach(function (row) {
        var zoom = Math.max(parseFloat(row.style.zoom || "1") * factor, floor(row, scale));
        row.style.zoom = zoom.toFixed(3);
      });
    }
  }
  function refresh() {
    if (!window.Reveal || !Reveal.getCurrentSlide) return;
    var slide = Reveal.getCurrentSlide();
    if (!slide) return;
    fit(slide);
    var step = current(slide);
    apply(slide, step ? step.getAttribute("data-highlight") : "");
  }
  if (!window.Reveal) return;
  Reveal.on("ready", function () {
    Reveal.getSlides().forEach(fit);
  });
  ["ready", "slidechanged", "fragmentshown", "fragmenthidden", "resize"].forEach(function (ev) {
    Reveal.on(ev, function () { setTimeout(refresh, 0); });
  });
})();
