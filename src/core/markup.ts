/** Text and attribute values in HTML and SVG (the pages, `--annotate`): every character markup gives a meaning to, escaped. */
export function escapeMarkup(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
