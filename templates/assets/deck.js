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
  /* Shrink a row of matrices that is wider than the slide, and the slide's rows if it is too tall. */
  function fit(slide) {
    var rows = slide.querySelectorAll(".row");
    rows.forEach(function (row) {
      row.style.zoom = "";
      if (row.scrollWidth > row.clientWidth + 1) {
        row.style.zoom = (row.clientWidth / row.scrollWidth).toFixed(3);
      }
    });
    var over = slide.scrollHeight - slide.clientHeight;
    if (over > 1 && rows.length) {
      rows.forEach(function (row) {
        var h = row.getBoundingClientRect().height || 1;
        var zoom = parseFloat(row.style.zoom || "1");
        row.style.zoom = Math.max(0.3, zoom * (1 - over / rows.length / h)).toFixed(3);
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
  document.addEventListener("DOMContentLoaded", function () {
    if (!window.Reveal) return;
    Reveal.on("ready", function () {
      Reveal.getSlides().forEach(fit);
    });
    ["ready", "slidechanged", "fragmentshown", "fragmenthidden"].forEach(function (ev) {
      Reveal.on(ev, function () { setTimeout(refresh, 0); });
    });
  });
})();
