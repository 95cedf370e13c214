// The page's own tool-call writes in its view before the worker's view of them arrives (as
// ./optimistic.ts does for messages): the call in `toolCalls`, its approval in `pendingApprovals`,
// and its part in the message, in the state the core gives it (chatsync-model's read_parts.rs).
import type {
  Approval, ApprovalDecision, ApprovalRequest, JsonValue, MessagePart, ThreadView, ToolCall, ToolCallEnd,
  ToolCallStart, ToolPart,
} from "../web/chatsync.js";
import type { Edit } from "./optimistic.js";

/** The view with the tool part of `callId` changed (in whichever message has it). */
function withToolPart(view: ThreadView, callId: string, change: (part: ToolPart) => ToolPart): ThreadView {
  const index = view.messages.findIndex((m) => m.parts.some((p) => "toolCallId" in p && p.toolCallId === callId));
  if (index < 0) return view;
  const messages = view.messages.slice();
  const message = messages[index]!;
  messages[index] = {
    ...message,
    parts: message.parts.map((p) => ("toolCallId" in p && p.toolCallId === callId ? change(p) : p)) as MessagePart[],
  };
  return { ...view, messages };
}

function withCall(view: ThreadView, callId: string, change: (call: ToolCall) => ToolCall): ThreadView {
  if (!view.toolCalls.some((c) => c.id === callId)) return view;
  return { ...view, toolCalls: view.toolCalls.map((c) => (c.id === callId ? change(c) : c)) };
}

export const startToolEdit = (call: ToolCallStart & { id: string }, now: number): Edit => (view) => {
  const index = view.messages.findIndex((m) => m.id === call.messageId);
  if (index < 0 || view.toolCalls.some((c) => c.id === call.id)) return view;
  const input = call.input ?? null;
  const record: ToolCall = {
    id: call.id, messageId: call.messageId, toolName: call.toolName, input, status: call.status ?? "running", startedAt: now,
  };
  if (call.providerCallId !== undefined) record.providerCallId = call.providerCallId;
  // The core's key order (a dynamic tool's name second), so the worker's equal part replaces this
  // one unseen and JSON of either reads the same.
  const part: ToolPart = {
    type: call.dynamic ? "dynamic-tool" : `tool-${call.toolName}`,
    ...(call.dynamic ? { toolName: call.toolName } : {}),
    toolCallId: call.id,
    state: call.inputStreaming ? "input-streaming" : "input-available",
  };
  if (!call.inputStreaming) part.input = input;
  const messages = view.messages.slice();
  const message = messages[index]!;
  messages[index] = { ...message, parts: [...message.parts, part], updatedAt: now };
  return { ...view, messages, toolCalls: [...view.toolCalls, record] };
};

export const toolInputEdit = (callId: string, input: JsonValue): Edit => (view) =>
  withToolPart(withCall(view, callId, (c) => ({ ...c, input })), callId, (p) => ({
    ...p, input, state: p.state === "input-streaming" ? "input-available" : p.state,
  }));

export const finishToolEdit = (callId: string, end: ToolCallEnd, now: number): Edit => (view) => {
  const next = withCall(view, callId, (c) => {
    const done: ToolCall = { ...c, status: end.status, completedAt: now, durationMs: Math.max(0, now - c.startedAt) };
    if (end.status === "completed") done.output = end.output ?? null;
    else done.error = end.error;
    return done;
  });
  return withToolPart(next, callId, (p) => {
    const { input, approval } = p;
    const part: ToolPart = {
      type: p.type, ...(p.toolName !== undefined ? { toolName: p.toolName } : {}), toolCallId: p.toolCallId, state: "output-available",
    };
    if (input !== undefined) part.input = input;
    if (approval) part.approval = approval;
    if (end.status === "completed") part.output = end.output ?? null;
    else if (approval?.approved === false) part.state = "output-denied";
    else {
      part.state = "output-error";
      part.errorText = end.error;
    }
    return part;
  });
};

export const requestApprovalEdit = (request: ApprovalRequest & { id: string }, now: number): Edit => (view) => {
  if (view.pendingApprovals.some((a) => a.id === request.id)) return view;
  const approval: Approval = { id: request.id, kind: request.kind, subject: request.subject, status: "pending", requestedAt: now };
  if (request.messageId !== undefined) approval.messageId = request.messageId;
  if (request.toolCallId !== undefined) approval.toolCallId = request.toolCallId;
  const next = { ...view, pendingApprovals: [...view.pendingApprovals, approval] };
  if (request.toolCallId === undefined) return next;
  return withToolPart(next, request.toolCallId, (p) =>
    p.state === "input-available" ? { ...p, state: "approval-requested", approval: { id: request.id } } : p);
};

export const decideApprovalEdit = (approvalId: string, decision: ApprovalDecision): Edit => (view) => {
  const approval = view.pendingApprovals.find((a) => a.id === approvalId);
  if (!approval) return view;
  const next = { ...view, pendingApprovals: view.pendingApprovals.filter((a) => a.id !== approvalId) };
  if (approval.toolCallId === undefined) return next;
  return withToolPart(next, approval.toolCallId, (p) => {
    if (p.state !== "approval-requested") return p;
    const answer: NonNullable<ToolPart["approval"]> = { id: approvalId, approved: decision.approve };
    if (decision.reason !== undefined) answer.reason = decision.reason;
    return { ...p, state: "approval-responded", approval: answer };
  });
};
