// What both device views build with: an element from its attributes and children, and the
// DWIN screen's regions in the order the page stacks them.

export const REGIONS = ['title', 'amount', 'balance', 'message', 'footer'];

/** `tag` with `attrs` (class, data-*, or a property such as textContent) and `children`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children);
  return node;
}
