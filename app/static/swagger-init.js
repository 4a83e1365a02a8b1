// Starts Swagger UI on /api/docs from a file of Steward's own: the Content-Security-Policy
// allows no inline script, so the settings come from data attributes of the page.
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  var config = JSON.parse(container.dataset.config || "{}");
  config.url = container.dataset.specUrl;
  config.dom_id = "#swagger-ui-container";
  window.ui = SwaggerUIBundle(config);
});
