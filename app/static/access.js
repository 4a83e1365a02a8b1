// Request access: show the SoD conflicts of the ticked roles as they are ticked. Without
// JavaScript the "Check conflicts" button asks the same question with a page load.
(function () {
  "use strict";
  var form = document.getElementById("access-request");
  if (!form) { return; }
  var result = document.getElementById("sod-result");
  var url = form.getAttribute("data-check-url");
  var pending = null;

  function check() {
    var params = new URLSearchParams();
    form.querySelectorAll("input[name=roles]:checked").forEach(function (box) {
      params.append("roles", box.value);
    });
    var user = form.querySelector("input[name=user]");
    if (user && user.value) { params.append("user", user.value); }
    if (!params.has("roles")) { result.textContent = ""; return; }
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(url + "?" + params.toString(), { credentials: "same-origin", signal: pending.signal })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) { result.innerHTML = html; })
      .catch(function () { /* the button still checks */ });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "roles" || event.target.name === "user") { check(); }
  });
})();
