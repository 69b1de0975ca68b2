// Progressive enhancement for the one-time survey links page: a "Copy all links" button.
// Without JavaScript the links stay in a read-only text area to select and copy by hand.
document.querySelectorAll("[data-copy-target]").forEach((button) => {
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source || !navigator.clipboard) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.value.trim());
    } catch {
      source.select();
      return;
    }
    const done = document.querySelector("[data-copy-done]");
    if (done) {
      done.hidden = false;
    }
  });
});
