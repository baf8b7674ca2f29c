// The UI library every page uses: Preact components written with htm's tagged templates (no build
// step; the page's import map points "preact", "preact/hooks" and "htm" at /assets/vendor/).

import htm from 'htm';
import { Component, Fragment, h, render } from 'preact';
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';

export const html = htm.bind(h);
export { Component, Fragment, render, useCallback, useEffect, useMemo, useReducer, useRef, useState };
