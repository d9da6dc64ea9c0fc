export function RunsPage() {
  return <div className="page">Coming soon</div>;
}
