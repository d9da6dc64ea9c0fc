// Routes. Real paths (the server answers unknown non-API paths with
// index.html), all pages inside the Layout except the sign-in page.
import { Route, Routes } from 'react-router-dom';
import { AuthProvider } from './components/Auth';
import { Layout } from './components/Layout';
import { ToastProvider } from './components/Toast';
import { ConnectionsPage } from './pages/ConnectionsPage';
import { FlowEditorPage } from './pages/FlowEditorPage';
import { FlowListPage } from './pages/FlowListPage';
import { LoginPage } from './pages/LoginPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { SettingsPage } from './pages/SettingsPage';
import { WebhooksPage } from './pages/WebhooksPage';

export function App() {
  return (
    <ToastProvider>
      <AuthProvider>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          <Route element={<Layout />}>
            <Route index element={<FlowListPage />} />
            <Route path="/flows" element={<FlowListPage />} />
            <Route path="/flows/new" element={<FlowEditorPage />} />
            <Route path="/flows/:id" element={<FlowEditorPage />} />
            <Route path="/connections" element={<ConnectionsPage />} />
            <Route path="/runs" element={<RunsPage />} />
            <Route path="/runs/:id" element={<RunPage />} />
            <Route path="/webhooks" element={<WebhooksPage />} />
            <Route path="/settings" element={<SettingsPage />} />
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </AuthProvider>
    </ToastProvider>
  );
}
