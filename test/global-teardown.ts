export { stopTestDevServer as default } from './global-setup';
