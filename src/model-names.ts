// Written by `npm run models:build` from models/manifest.json: do not edit.
/** The shipped models and model families `model` names. */
export type ShippedModel =
  | 'realesr-animevideov3'
  | 'realesr-animevideov3-x2'
  | 'realesr-animevideov3-x3'
  | 'realesr-animevideov3-x4'
  | 'realesr-general-x4v3'
  | 'realesrgan-x4plus'
  | 'realesrgan-x4plus-anime';
