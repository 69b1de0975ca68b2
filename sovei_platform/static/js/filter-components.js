// Progressive enhancement for the time log: the component list shows only the components of
// the chosen module. Without JavaScript every component is listed, grouped by module, and
// the server refuses a component from another module with a clear message.
document.querySelectorAll("select[data-filters]").forEach((moduleSelect) => {
  const target = document.getElementById(moduleSelect.dataset.filters);
  if (!(target instanceof HTMLSelectElement)) {
    return;
  }
  const filter = () => {
    const chosen = moduleSelect.selectedOptions[0];
    const label = chosen && chosen.value ? chosen.textContent.trim() : null;
    target.querySelectorAll("optgroup").forEach((group) => {
      const visible = label === null || group.label.trim() === label;
      group.hidden = !visible;
      group.disabled = !visible;
    });
    const selected = target.selectedOptions[0];
    if (selected && selected.parentElement instanceof HTMLOptGroupElement && selected.parentElement.disabled) {
      target.value = "";
    }
  };
  moduleSelect.addEventListener("change", filter);
  filter();
});
