import { Link } from 'react-router-dom';
import { useDocumentTitle } from '../lib/hooks';

export function NotFoundPage() {
  useDocumentTitle('Not found');
  return (
    <div className="page">
      <h1>Page not found</h1>
      <p className="muted">
        There is nothing at this address. <Link to="/">Back to the flows</Link>
      </p>
    </div>
  );
}
