import './styles/app.css';
import { mount } from 'svelte';
import AppView from './App.svelte';
import { App } from './app';
import { getHost } from './host';

const host = await getHost();
const app = new App(host);
// Started before mounting: `start` restores the panes before its first `await`, so the
// first render already has them (one render and one layout at launch instead of two).
const starting = app.start();
mount(AppView, { target: document.getElementById('app')!, props: { app } });
void starting;
// For the end-to-end test and for poking around in the console.
(globalThis as { sscope?: App }).sscope = app;
