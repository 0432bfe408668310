/**
 * Types for the script-tag bundle (`<script src="…/sdk/telemed-sdk.iife.js">`), which defines the
 * global `TelemedSDK`. In a TypeScript page: `import type {} from '@telemed/client-sdk/global';`
 * then `window.TelemedSDK.ConsultationClient.join(…)` is typed like the module's exports.
 */
import type * as SDK from './dist/types/client-sdk/src/index.js';

declare global {
  interface Window {
    TelemedSDK: typeof SDK;
  }
}

export {};
