import { Document, HeadingLevel, Packer, Paragraph } from 'docx';

/** A small two-section report for benchmarks. */
export const makeDoc = (): Promise<Buffer> =>
  Packer.toBuffer(
    new Document({
      sections: [
        {
          children: [
            new Paragraph({ text: 'Summary', heading: HeadingLevel.HEADING_1 }),
            new Paragraph('The service was unavailable for four hours.'),
            new Paragraph({ text: 'Actions', heading: HeadingLevel.HEADING_1 }),
            new Paragraph('Add alerting on queue depth.'),
          ],
        },
      ],
    }),
  );
