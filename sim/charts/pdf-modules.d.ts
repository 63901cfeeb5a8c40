/** The parts of pdfkit and svg-to-pdfkit that render.ts uses (neither ships type declarations). */
declare module 'pdfkit' {
  interface PDFDocumentOptions {
    size?: [number, number];
    margin?: number;
    autoFirstPage?: boolean;
    info?: Record<string, string | Date>;
  }
  export default class PDFDocument {
    constructor(options?: PDFDocumentOptions);
    registerFont(name: string, src: string): this;
    on(event: 'data', fn: (chunk: Buffer) => void): this;
    on(event: 'end', fn: () => void): this;
    on(event: 'error', fn: (e: Error) => void): this;
    end(): void;
  }
}

declare module 'svg-to-pdfkit' {
  import type PDFDocument from 'pdfkit';
  export default function SVGtoPDF(doc: PDFDocument, svg: string, x: number, y: number, options?: {
    width?: number;
    height?: number;
    fontCallback?: (family: string, bold: boolean, italic: boolean) => string;
  }): void;
}
