// Site-wide behaviour without inline script (the CSP forbids it).
document.querySelectorAll("select[data-autosubmit]").forEach((el) => {
  el.addEventListener("change", () => el.form.submit());
});
