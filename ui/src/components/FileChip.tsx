// A file value (docs/files.md) shown as what it is: its name, size and type,
// a Download link, a thumbnail for an image and the first bytes of a text.
// The bytes come from GET /files/{id}, authenticated by the session cookie
// like every other API call.
import { useEffect, useState } from 'react';
import { errorMessage, files, type FileValue } from '../api';
import { baseType, fmtBytes, isPreviewableImage, isTextType } from '../lib/files';
import { Icon } from './icons';
import { Spinner } from './ui';

/** Bytes of a text file shown by "Show text" (one Range request). */
export const TEXT_PREVIEW_BYTES = 4096;
/** Images larger than this get no thumbnail: it would download them whole. */
const THUMBNAIL_MAX_BYTES = 20_000_000;

function TextPreview({ file }: { file: FileValue }) {
  const [state, setState] = useState<{ text?: string; error?: unknown }>({});
  useEffect(() => {
    const ctl = new AbortController();
    files
      .head(file.id, TEXT_PREVIEW_BYTES, ctl.signal)
      .then((text) => setState({ text }))
      .catch((error) => {
        if (!ctl.signal.aborted) setState({ error });
      });
    return () => ctl.abort();
  }, [file.id]);
  if (state.error) {
    return (
      <div className="field-error" role="alert">
        Could not read the file: {errorMessage(state.error)}
      </div>
    );
  }
  if (state.text === undefined) return <Spinner label="Reading the file" />;
  const cut = file.size > TEXT_PREVIEW_BYTES;
  return (
    <div className="file-text-wrap">
      <pre className="file-text" data-testid="file-text" aria-label={`First bytes of ${file.name}`}>
        {state.text}
      </pre>
      {cut ? (
        <div className="small muted">
          The first {fmtBytes(TEXT_PREVIEW_BYTES)} of {fmtBytes(file.size)}; download the file for the rest.
        </div>
      ) : null}
    </div>
  );
}

export function FileChip({ file, onShowJson }: { file: FileValue; onShowJson?: () => void }) {
  const [thumbFailed, setThumbFailed] = useState(false);
  const [showText, setShowText] = useState(false);
  const type = baseType(file.content_type) || 'application/octet-stream';
  const image = isPreviewableImage(type);
  const withThumb = image && !thumbFailed && file.size > 0 && file.size <= THUMBNAIL_MAX_BYTES;
  const text = isTextType(type) && file.size > 0;
  const exact = `${file.size.toLocaleString('en-US')} bytes`;

  return (
    <div className="file-chip" data-testid="file-chip" data-file-id={file.id} data-file-name={file.name}>
      <div className="file-chip-main">
        {withThumb ? (
          <a
            className="file-thumb"
            href={files.url(file.id, { inline: true })}
            target="_blank"
            rel="noopener noreferrer"
            title={`Open ${file.name}`}
          >
            <img
              src={files.url(file.id, { inline: true })}
              alt={`Preview of ${file.name}`}
              loading="lazy"
              decoding="async"
              data-testid="file-preview"
              onError={() => setThumbFailed(true)}
            />
          </a>
        ) : (
          <span className="file-icon" aria-hidden>
            <Icon name={image ? 'image' : 'document'} size={20} />
          </span>
        )}
        <div className="file-chip-text">
          <span className="file-name" data-testid="file-name" title={file.name}>
            {file.name || file.id}
          </span>
          <span className="file-facts">
            <span data-testid="file-size" title={exact}>
              {fmtBytes(file.size)}
            </span>
            <span aria-hidden> · </span>
            <span data-testid="file-type">{type}</span>
          </span>
        </div>
        <div className="file-chip-actions">
          {text ? (
            <button
              type="button"
              className="btn btn-small"
              aria-expanded={showText}
              data-testid="file-show-text"
              onClick={() => setShowText((v) => !v)}
            >
              <Icon name="eye" /> {showText ? 'Hide text' : 'Show text'}
            </button>
          ) : null}
          <a
            className="btn btn-small"
            href={files.url(file.id)}
            download={file.name || true}
            aria-label={`Download ${file.name}`}
            title={`Download ${file.name} (${exact})`}
            data-testid="file-download"
          >
            <Icon name="download" /> Download
          </a>
          {onShowJson ? (
            <button
              type="button"
              className="btn btn-small btn-ghost"
              title="Show the file value as JSON"
              aria-label={`Show ${file.name} as JSON`}
              data-testid="file-show-json"
              onClick={onShowJson}
            >
              <Icon name="braces" />
            </button>
          ) : null}
        </div>
      </div>
      {showText ? <TextPreview file={file} /> : null}
    </div>
  );
}
