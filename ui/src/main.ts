import './styles/app.css';
import { mount } from 'svelte';
import AppView from './App.svelte';
import { App } from './app.svelte';
import { getHost } from './host';

const host = await getHost();
const app = new App(host);
mount(AppView, { target: document.getElementById('app')!, props: { app } });
void app.start();
// For the end-to-end test and for poking around in the console.
(globalThis as { sscope?: App }).sscope = app;
