// mcu-mqtt public entry: what device bundles and apps import.
export * from './codec/index.js';
