/** What the library's search covers of a document (kept in store, which writes it): see store/src/library-text.ts. */
export { normalizeWord, searchText, words } from '@prism/store';
