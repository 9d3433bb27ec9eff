import { useState } from 'react';
import { ApiError } from '../shared/api';
import { describeError } from './use-resource';

/** Saves a fetched file the way a download link would (the token is a header, so a plain link would be refused). */
function save(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: filename });
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The download has its own copy once started; the object URL is freed a little later.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A button that fetches a file through the API client and saves it, saying so while it works and when it fails. */
export function DownloadButton({
  fetchFile,
  label,
  what,
  testId,
}: {
  fetchFile: () => Promise<{ blob: Blob; filename: string }>;
  label: string;
  /** How a failure names the action: "The download failed: …". */
  what: string;
  testId: string;
}) {
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const download = async () => {
    setState({ busy: true, error: null });
    try {
      const { blob, filename } = await fetchFile();
      save(blob, filename);
      setState({ busy: false, error: null });
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(`${what} failed`, 500, null);
      setState({ busy: false, error: describeError(apiError, what) });
    }
  };
  return (
    <>
      <button type="button" className="secondary" data-testid={testId} disabled={state.busy} onClick={() => void download()}>
        {state.busy ? 'Preparing CSV…' : label}
      </button>
      {state.error && (
        <span className="field-error" role="alert">
          {state.error}
        </span>
      )}
    </>
  );
}
