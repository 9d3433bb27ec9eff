import { useEffect, useLayoutEffect, type RefObject } from 'react';
import { resize } from './sdk';

/** The page's colours follow the theme (theme.css keys its variables on `data-theme`). */
export function useDocumentTheme(theme: string): void {
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
}

/**
 * Asks Pipedrive to size the iframe to the content whenever it changes; the host clamps it (the deal panel to
 * 100–750 px). A refused resize leaves the page scrolling inside the iframe, which is no error worth reporting.
 */
export function useFitToContent(root: RefObject<HTMLElement | null>): void {
  useLayoutEffect(() => {
    const el = root.current;
    if (!el) return;
    const observer = new ResizeObserver(() => void resize(el.scrollHeight + 2).catch(() => undefined));
    observer.observe(el);
    return () => observer.disconnect();
  }, [root]);
}
