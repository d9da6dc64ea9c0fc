export function WebhooksPage() {
  return <div className="page">Coming soon</div>;
}
