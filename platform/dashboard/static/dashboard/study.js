// Study page: poll the progress endpoint (which queues a background refresh),
// copy buttons for the annotator links, confirmation for closing a study.
(function () {
  "use strict";
  var POLL_MS = 5000;
  var section = document.getElementById("progress");
  var body = document.getElementById("progress-body");

  function poll() {
    if (document.hidden) { return; }
    fetch(section.dataset.url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        // The fragment is rendered (and escaped) by the server's template.
        if (data && typeof data.html === "string") { body.innerHTML = data.html; }
      })
      .catch(function () { /* offline for a moment: try again on the next tick */ });
  }

  if (section && body) {
    poll();
    window.setInterval(poll, POLL_MS);
    document.addEventListener("visibilitychange", poll);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.dataset.copy);
      input.select();
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done);
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
