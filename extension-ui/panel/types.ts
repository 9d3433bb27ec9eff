/** The shape of GET /api/panel/deals/:dealId (server/panel/panel-service.ts). */
export type PanelMessage =
  | { id: string; direction: 'outbound'; body: string | null; status: string; at: string; automation: string | null; error: string | null; errorCode: string | null }
  | { id: string; direction: 'inbound'; body: string; at: string; keyword: string | null; possibleOptOut: boolean };

export type PanelView = {
  deal: { id: number; title: string };
  person: { id: number; name: string; phone: string | null; e164: string | null } | null;
  consent: 'granted' | 'opted_out' | 'none';
  consentHistory: Array<{ action: 'opt_out' | 'opt_in'; source: string; at: string; message: string | null }>;
  canSend: { ok: true } | { ok: false; reason: string; message: string };
  maxSegments: number;
  messages: PanelMessage[];
  more: boolean;
};
