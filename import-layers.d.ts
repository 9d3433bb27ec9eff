export type Layer = { paths: string[]; mayImport: string[]; mayImportTypes?: string[] };
export declare const LAYERS: Record<string, Layer>;
export declare function layerOf(path: string): string | null;
