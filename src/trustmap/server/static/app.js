// trustmap registry UI: small progressive enhancements; every page works without them.
(function () {
  // Filter a table's rows by the text typed in an input with data-filter="<table id>".
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    if (!table) return;
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      table.querySelectorAll("tbody tr").forEach(function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(needle) >= 0 ? "" : "none";
      });
    });
  });
  // Hovering a node dims the lines that do not touch it.
  var svg = document.getElementById("graph");
  if (!svg) return;
  svg.querySelectorAll(".node").forEach(function (node) {
    var c = node.querySelector("circle");
    var x = parseFloat(c.getAttribute("cx")), y = parseFloat(c.getAttribute("cy"));
    node.addEventListener("mouseenter", function () {
      svg.querySelectorAll(".line").forEach(function (line) {
        var d = line.getAttribute("d") || "";
        var touches = d.indexOf("," + y + " ") >= 0 || d.endsWith("," + y) ||
          line.getAttribute("y1") == y && line.getAttribute("x1") == x ||
          line.getAttribute("y2") == y && line.getAttribute("x2") == x;
        line.classList.toggle("dim", !touches);
      });
    });
    node.addEventListener("mouseleave", function () {
      svg.querySelectorAll(".line.dim").forEach(function (line) { line.classList.remove("dim"); });
    });
  });
})();
