// The receipt page's 打印回执 button (no inline scripts: the pages' Content-Security-Policy).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-receipt");
  if (button) button.addEventListener("click", function () { window.print(); });
});
