// Routes. Real paths (the server answers unknown non-API paths with
// index.html), all pages inside the Layout except the sign-in page. A data
// router, so the editor can block navigation while it has unsaved changes.
import { createBrowserRouter, Outlet, RouterProvider } from 'react-router-dom';
import { AuthProvider } from './components/Auth';
import { Layout } from './components/Layout';
import { ToastProvider } from './components/Toast';
import { ConnectionsPage } from './pages/ConnectionsPage';
import { ConnectorsPage } from './pages/ConnectorsPage';
import { FlowEditorPage } from './pages/FlowEditorPage';
import { FlowListPage } from './pages/FlowListPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { SettingsPage } from './pages/SettingsPage';
import { WebhooksPage } from './pages/WebhooksPage';

function Root() {
  return (
    <ToastProvider>
      <AuthProvider>
        <Outlet />
      </AuthProvider>
    </ToastProvider>
  );
}

const router = createBrowserRouter([
  {
    element: <Root />,
    children: [
      { path: '/login', element: <LoginPage /> },
      {
        element: <Layout />,
        children: [
          { index: true, element: <FlowListPage /> },
          { path: '/flows', element: <FlowListPage /> },
          { path: '/flows/new', element: <FlowEditorPage /> },
          { path: '/flows/:id', element: <FlowEditorPage /> },
          { path: '/connections', element: <ConnectionsPage /> },
          { path: '/connectors', element: <ConnectorsPage /> },
          { path: '/runs', element: <RunsPage /> },
          { path: '/runs/:id', element: <RunPage /> },
          { path: '/webhooks', element: <WebhooksPage /> },
          { path: '/settings', element: <SettingsPage /> },
          { path: '*', element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
