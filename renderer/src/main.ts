import '@vue-flow/core/dist/style.css';
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { installDebugHooks } from './lab-debug';
import './styles.css';
import './editor.css';

createApp(App).use(createPinia()).mount('#app');
installDebugHooks();
