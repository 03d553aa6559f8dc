// How keyboard shortcuts are named to the user: one place decides whether this is a Mac,
// so the top bar's hints and every button's hint agree (the Send button once showed "⌘↵"
// on Linux while the top bar said "Ctrl ↵").

/** Whether a `navigator.platform` string is Apple's (the Command key is the modifier). */
export function isApplePlatform(platform: string): boolean {
  return /Mac|iPhone|iPad|iPod/.test(platform);
}

/** The modifier's name for shortcut hints: "⌘" on Apple platforms, "Ctrl" elsewhere. */
export function modKeyLabel(platform: string = typeof navigator !== 'undefined' ? navigator.platform : ''): string {
  return isApplePlatform(platform) ? '⌘' : 'Ctrl';
}

/** A shortcut hint as the buttons show it: "⌘↵" on a Mac, "Ctrl ↵" elsewhere. */
export function shortcutHint(key: string, platform?: string): string {
  const mod = modKeyLabel(platform);
  return mod === '⌘' ? `${mod}${key}` : `${mod} ${key}`;
}
