/* Campaign add form: choosing another task type reloads the form with that type's settings.
 * Admin media load in <head>, so wait for the form. */
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const select = document.querySelector("form#campaign_form select[name=task_type]");
  if (!select) return;
  select.addEventListener("change", () => {
    const url = new URL(window.location.href);
    url.searchParams.set("task_type", select.value);
    window.location.assign(url.toString());
  });
});
