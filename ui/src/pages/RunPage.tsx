export function RunPage() {
  return <div className="page">Coming soon</div>;
}
