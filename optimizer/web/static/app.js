// The workspace's little JavaScript: an upload's size checked before it is
// sent, and a run's status and progress kept up to date until it ends.
(function () {
  "use strict";

  function uploadForm() {
    var form = document.getElementById("upload-form");
    if (!form) { return; }
    var input = form.querySelector('input[type="file"]');
    var message = document.getElementById("upload-message");
    var maxBytes = Number(form.getAttribute("data-max-bytes"));
    var maxMb = form.getAttribute("data-max-mb");
    function say(text) {
      message.textContent = text;
      message.hidden = !text;
    }
    function check() {
      var file = input.files && input.files[0];
      if (file && maxBytes && file.size > maxBytes) {
        say("The upload is " + (file.size / 1048576).toFixed(1) + " MB: files up to " + maxMb +
            " MB are accepted. Upload a smaller workbook, or zip the instance's YAML folder.");
        return false;
      }
      say("");
      return true;
    }
    input.addEventListener("change", check);
    form.addEventListener("submit", function (event) {
      if (!check()) { event.preventDefault(); }
    });
  }

  function runStatus() {
    var box = document.getElementById("run");
    if (!box || box.getAttribute("data-finished") === "yes") { return; }
    var id = box.getAttribute("data-run");
    var status = document.getElementById("run-status");
    var detail = document.getElementById("run-detail");
    var bar = document.getElementById("run-progress");
    var count = document.getElementById("run-count");
    var delay = 400;
    function poll() {
      fetch("/runs/" + id + "/status", {headers: {"Accept": "application/json"}})
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.finished) { window.location.reload(); return; }
          status.textContent = String(s.status).replace("_", " ");
          status.className = "status status-" + s.status;
          var words = [];
          if (s.position) { words.push("number " + s.position + " in the queue"); }
          if (s.elapsed !== null && s.elapsed !== undefined) { words.push(s.elapsed.toFixed(0) + " s"); }
          detail.textContent = words.length ? "(" + words.join(", ") + ")" : "";
          if (s.progress && s.progress.total) {
            bar.max = s.progress.total;
            bar.value = s.progress.done;
            count.textContent = s.progress.done + " of " + s.progress.total;
          }
          delay = Math.min(delay * 1.25, 2000);
          window.setTimeout(poll, delay);
        })
        .catch(function () { window.setTimeout(poll, 2000); });
    }
    window.setTimeout(poll, delay);
  }

  document.addEventListener("DOMContentLoaded", function () {
    uploadForm();
    runStatus();
  });
})();
