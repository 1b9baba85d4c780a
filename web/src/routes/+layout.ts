// Prism's web app is a single-page app: the server sends build/index.html for every non-/api path and
// the browser renders the route.
export const ssr = false;
export const prerender = false;
