export function SettingsPage() {
  return <div className="page">Coming soon</div>;
}
