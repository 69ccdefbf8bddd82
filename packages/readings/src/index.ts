export { validateReading, ReadingValidationError, READING_ERROR_REASONS, READING_LIMITS, type Reading, type ReadingErrorReason } from './reading.js';
export { encodeReadingsMessages, decodeReadingsMessage, type ReadingsMessage } from './message.js';
export { encodeSegment, decodeSegment, segmentReading, segmentReadings, SegmentFormatError, type SegmentHeader, type DecodedSegment } from './segment-codec.js';
