export function FlowEditorPage() {
  return <div className="page">Coming soon</div>;
}
