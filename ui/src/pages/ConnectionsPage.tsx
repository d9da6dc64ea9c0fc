export function ConnectionsPage() {
  return <div className="page">Coming soon</div>;
}
