// What the rest of the UI imports from the application layer: the `App` views get from
// context and the pane types they render. The modules behind it are reached only through
// here, so they can be split or merged without touching views.

export { App, provideApp, useApp } from './app.svelte';
export { isLive, PaneState, type PaneError } from './pane.svelte';
export type { Theme } from './workspace';
